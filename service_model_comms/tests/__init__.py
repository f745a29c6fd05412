from . import test_comms, test_suppression_rules
