from . import test_security
from . import test_due_date
from . import test_account
from . import test_job
from . import test_job_performance
from . import test_billing_schedule
from . import test_import_parser
