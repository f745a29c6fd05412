from . import test_suppression_rules
