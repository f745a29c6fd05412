from . import test_comms, test_events, test_suppression_rules, test_twilio, test_twilio_rules
