from . import service_account, service_job
