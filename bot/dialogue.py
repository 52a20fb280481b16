"""The dialogue's names as the Python code uses them: intents, slots, entities, custom actions and
the responses the code says or pieces together, each written once.

domain.yml and bot/data declare these names, and Rasa matches them as plain strings: a name
renamed or mistyped there and not in the code (or the reverse) fails at a survivor's turn, not at
start-up. Written once here, a rename is one change, and tests/bot/test_dialogue_names.py fails
when a name below is not declared in domain.yml or bot/data, or when a module under bot/ spells a
declared name as a string literal instead of importing it from here.

Plain constants, grouped by kind, named after the name they hold (`utter_ask_kind` is
UTTER_ASK_KIND), so a grep for either finds both.
"""
from __future__ import annotations

from typing import Dict, Text

# --- intents ---------------------------------------------------------------------------------
INTENT_NEED_SHELTER = "need_shelter"
INTENT_NEED_MENTAL_HEALTH = "need_mental_health"
INTENT_NEED_SUBSTANCE_USE = "need_substance_use"
INTENT_NEED_LEGAL = "need_legal"
INTENT_INFORM_PLACE = "inform_place"  # also set by bot.components.place_answers
INTENT_SKIP_PLACE = "skip_place"
INTENT_AFFIRM = "affirm"
INTENT_EMERGENCY = "emergency"  # also set by bot.components.safety
INTENT_BOT_CHALLENGE = "bot_challenge"

# The intents that name a kind of help, and the `service_kind` value each sets (domain.yml's
# from_intent mappings of that slot).
KIND_INTENTS: Dict[Text, Text] = {
    INTENT_NEED_SHELTER: "shelter",
    INTENT_NEED_MENTAL_HEALTH: "mental_health",
    INTENT_NEED_SUBSTANCE_USE: "substance_use",
    INTENT_NEED_LEGAL: "legal",
}

# --- entities --------------------------------------------------------------------------------
ENTITY_PLACE = "place"  # bot.components.places
ENTITY_DANGER_TYPE = "danger_type"  # bot.components.safety: self_harm, danger or medical
ENTITY_SERVICE_KIND = "service_kind"  # bot.components.safety: the help an emergency also asks for
# A mark the safety component adds to a message's entities (near an emergency, not one); it is
# not one of domain.yml's entities, so it sets no slot (bot.actions.notices reads it).
MARK_SAFETY_CHECK = "safety_check"

# --- slots -----------------------------------------------------------------------------------
SLOT_SERVICE_KIND = "service_kind"
SLOT_PLACE = "place"
SLOT_PLACE_DECLINED = "place_declined"
SLOT_AWAITING = "awaiting"
SLOT_RESULTS_OFFSET = "results_offset"
SLOT_PAGE_START = "page_start"
SLOT_INTRO_GIVEN = "intro_given"
SLOT_SAFETY_CHECK_GIVEN = "safety_check_given"
SLOT_SMS_NOTE_GIVEN = "sms_note_given"
SLOT_CONTACT_FIRST = "contact_first"
SLOT_LANGUAGE = "language"

# What the bot asked last: the values of the `awaiting` slot.
AWAITING_KIND = "kind"
AWAITING_PLACE = "place"
AWAITING_MORE = "more"
AWAITING_ADVOCATE = "advocate"

# --- custom actions (bot.actions) ------------------------------------------------------------
ACTION_FIND_HELP = "action_find_help"
ACTION_MORE_RESULTS = "action_more_results"
ACTION_ASK_KIND = "action_ask_kind"
ACTION_ANSWER_HOURS = "action_answer_hours"
ACTION_EMERGENCY = "action_emergency"
ACTION_HUMAN_HANDOFF = "action_human_handoff"
ACTION_DECLINE_ADVOCATE = "action_decline_advocate"
ACTION_ADVOCATE_STATUS = "action_advocate_status"
ACTION_NO_FIRST_CONTACT = "action_no_first_contact"
ACTION_ROUTE_YES_NO = "action_route_yes_no"
ACTION_ROUTE_FALLBACK = "action_route_fallback"
ACTION_NOTICES = "action_notices"
ACTION_ANSWER_PRIVACY = "action_answer_privacy"
ACTION_ANSWER_CONFIDENTIALITY = "action_answer_confidentiality"

# --- responses: finding help (bot.actions.find_help, routing) --------------------------------
UTTER_ASK_KIND = "utter_ask_kind"
UTTER_ASK_PLACE = "utter_ask_place"
UTTER_PLACE_NOT_FOUND = "utter_place_not_found"
UTTER_RESULTS_NONE_NEARBY = "utter_results_none_nearby"
UTTER_NO_PLACE_LINES = "utter_no_place_lines"
UTTER_OFFER_MORE = "utter_offer_more"
UTTER_NO_MORE_RESULTS = "utter_no_more_results"
UTTER_OTHER_TOWNS = "utter_other_towns"
UTTER_HOURS_CALL = "utter_hours_call"
UTTER_ANYTHING_ELSE = "utter_anything_else"
UTTER_STILL_HERE = "utter_still_here"
UTTER_DEFAULT = "utter_default"
UTTER_SERVICE_TROUBLE = "utter_service_trouble"  # also the Rasa server's own answer (bot.channels.fallback)
UTTER_PART_RESULTS_HEADER = "utter_part_results_header"
UTTER_PART_SERVICE = "utter_part_service"
UTTER_PART_SERVICE_NO_PHONE = "utter_part_service_no_phone"
UTTER_PART_SERVICE_HOURS = "utter_part_service_hours"
UTTER_PART_HOURS_HEADER = "utter_part_hours_header"
UTTER_PART_HOURS_UNKNOWN = "utter_part_hours_unknown"
UTTER_PART_DEMO_LISTING = "utter_part_demo_listing"
# The responses that are pieces the actions put together, never said alone (bot.response_rules
# holds them to the rules of a whole message only once joined).
UTTER_PART_PREFIX = "utter_part_"
# One response per kind of help (each value of the `service_kind` slot), named by these.
UTTER_PART_KIND_PREFIX = "utter_part_kind_"  # how the bot names the kind in a sentence
UTTER_PART_LINES_PREFIX = "utter_part_lines_"  # the national 24/7 lines for the kind


def utter_part_kind(kind: Text) -> Text:
    """The response that names the kind of help `kind` (a `service_kind` value) in a sentence."""
    return UTTER_PART_KIND_PREFIX + kind


def utter_part_lines(kind: Text) -> Text:
    """The response that lists the national 24/7 lines for the kind of help `kind`."""
    return UTTER_PART_LINES_PREFIX + kind


# --- responses: notices, privacy (bot.actions.notices, privacy) ------------------------------
# What a message past a rate limit gets (bot.channels): slow down, try again in a minute, 911, 24/7 lines.
UTTER_RATE_LIMITED = "utter_rate_limited"
UTTER_INTRO = "utter_intro"
UTTER_SMS_FIRST_WORDS = "utter_sms_first_words"
UTTER_SMS_PRIVACY_NOTE = "utter_sms_privacy_note"
UTTER_SAFETY_CHECK = "utter_safety_check"
UTTER_PRIVACY = "utter_privacy"
UTTER_PRIVACY_KEPT = "utter_privacy_kept"
UTTER_PART_NEVER_REPORT = "utter_part_never_report"
UTTER_PART_CONFIDENTIALITY = "utter_part_confidentiality"

# --- responses: emergencies and advocates (bot.actions.handoff, bot.handoff_replies) ---------
UTTER_EMERGENCY_DANGER = "utter_emergency_danger"
UTTER_EMERGENCY_SELF_HARM = "utter_emergency_self_harm"
UTTER_EMERGENCY_MEDICAL = "utter_emergency_medical"
UTTER_EMERGENCY_CAN_SAY_NO = "utter_emergency_can_say_no"
UTTER_EMERGENCY_PLACE_LATER = "utter_emergency_place_later"
UTTER_ADVOCATE_ASKED_EMERGENCY = "utter_advocate_asked_emergency"
UTTER_ADVOCATE_OFF_SHIFT = "utter_advocate_off_shift"
UTTER_ADVOCATE_OFF_SHIFT_LATER = "utter_advocate_off_shift_later"
UTTER_ADVOCATE_NOT_REACHED_EMERGENCY = "utter_advocate_not_reached_emergency"
UTTER_ADVOCATE_NOT_REACHED = "utter_advocate_not_reached"
UTTER_ADVOCATE_HAS_CHAT = "utter_advocate_has_chat"
UTTER_ADVOCATE_STILL_ASKED = "utter_advocate_still_asked"
UTTER_NO_ADVOCATE_ASKED = "utter_no_advocate_asked"
UTTER_HANDOFF_REQUESTED = "utter_handoff_requested"
UTTER_HANDOFF_DECLINED = "utter_handoff_declined"
UTTER_HANDOFF_OFF_SHIFT = "utter_handoff_off_shift"
UTTER_HANDOFF_OFF_SHIFT_LATER = "utter_handoff_off_shift_later"
UTTER_HANDOFF_OFF_SHIFT_NOT_KEPT = "utter_handoff_off_shift_not_kept"
UTTER_HANDOFF_OFF_SHIFT_NOT_KEPT_LATER = "utter_handoff_off_shift_not_kept_later"
UTTER_QUEUE_PLACE = "utter_queue_place"
UTTER_QUEUE_OFF_SHIFT = "utter_queue_off_shift"
UTTER_QUEUE_OFF_SHIFT_LATER = "utter_queue_off_shift_later"
UTTER_QUEUE_NOBODY_ASKED = "utter_queue_nobody_asked"
UTTER_IAMABOT = "utter_iamabot"
UTTER_IAMABOT_ADVOCATE_ASKED = "utter_iamabot_advocate_asked"
UTTER_NO_FIRST_CONTACT = "utter_no_first_contact"
# The pieces that say when the next shift starts: a day, then a moment ({day}, {hour}, {minute}).
UTTER_PART_DAY_TODAY = "utter_part_day_today"
UTTER_PART_DAY_TOMORROW = "utter_part_day_tomorrow"
UTTER_PART_DAY_MONDAY = "utter_part_day_monday"
UTTER_PART_DAY_TUESDAY = "utter_part_day_tuesday"
UTTER_PART_DAY_WEDNESDAY = "utter_part_day_wednesday"
UTTER_PART_DAY_THURSDAY = "utter_part_day_thursday"
UTTER_PART_DAY_FRIDAY = "utter_part_day_friday"
UTTER_PART_DAY_SATURDAY = "utter_part_day_saturday"
UTTER_PART_DAY_SUNDAY = "utter_part_day_sunday"
UTTER_PART_MOMENT_AM = "utter_part_moment_am"
UTTER_PART_MOMENT_PM = "utter_part_moment_pm"

# --- responses the channels say themselves (bot.channels) ------------------------------------
UTTER_MESSAGE_TOO_LONG = "utter_message_too_long"
UTTER_RESTART = "utter_restart"  # said by Rasa's ActionRestart
UTTER_CHANNEL_ERROR = "utter_channel_error"
UTTER_PART_SMS_OPTION = "utter_part_sms_option"
UTTER_SMS_HELP = "utter_sms_help"
UTTER_SMS_PICTURE_ONLY = "utter_sms_picture_only"
UTTER_SMS_DELETE_CONFIRM = "utter_sms_delete_confirm"
UTTER_SMS_DELETED = "utter_sms_deleted"
UTTER_WEBCHAT_WELCOME = "utter_webchat_welcome"
UTTER_PART_WEBCHAT_TITLE = "utter_part_webchat_title"
UTTER_PART_WEBCHAT_INPUT_LABEL = "utter_part_webchat_input_label"
UTTER_PART_WEBCHAT_SEND = "utter_part_webchat_send"
UTTER_PART_WEBCHAT_EXIT = "utter_part_webchat_exit"
UTTER_PART_WEBCHAT_EXIT_HINT = "utter_part_webchat_exit_hint"
UTTER_PART_WEBCHAT_YOU = "utter_part_webchat_you"
UTTER_PART_WEBCHAT_HELPER = "utter_part_webchat_helper"
UTTER_PART_WEBCHAT_ADVOCATE = "utter_part_webchat_advocate"
UTTER_PART_WEBCHAT_ERASE = "utter_part_webchat_erase"
UTTER_PART_WEBCHAT_ERASE_QUESTION = "utter_part_webchat_erase_question"
UTTER_PART_WEBCHAT_ERASE_YES = "utter_part_webchat_erase_yes"
UTTER_PART_WEBCHAT_ERASE_NO = "utter_part_webchat_erase_no"
UTTER_PART_WEBCHAT_ERASED = "utter_part_webchat_erased"
UTTER_PART_WEBCHAT_CONNECTING = "utter_part_webchat_connecting"
UTTER_PART_WEBCHAT_RECONNECTING = "utter_part_webchat_reconnecting"
