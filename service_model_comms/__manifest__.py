{
    "name": "Service Model - Communications",
    "summary": "Communication matrix, suppression rules with a decision log, mail and SMS",
    "version": "18.0.1.0.0",
    "category": "Services",
    "license": "LGPL-3",
    "author": "Service Model",
    "website": "https://github.com/service-model/service-model",
    "depends": ["service_model", "phone_validation"],
    "data": [
        "security/ir.model.access.csv",
    ],
    "installable": True,
}
