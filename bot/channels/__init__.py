"""The survivor channels the Rasa server opens (registered in credentials.yml): Rasa's REST
channel made safe, the Twilio SMS line and the web chat. Kept free of imports so that the
database schema (`sms_store`) can be loaded by any process without pulling in Rasa's server."""
