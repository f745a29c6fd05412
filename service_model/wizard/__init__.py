from . import service_date_entry_wizard
from . import service_import_wizard
from . import service_import_wizard_column
from . import service_job_completion_wizard
from . import service_job_due_override_wizard
