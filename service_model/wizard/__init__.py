from . import service_date_entry_wizard
from . import service_import_wizard
from . import service_import_wizard_column
