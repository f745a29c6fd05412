# The two commands of the README. Everything else lives in scripts/sm.sh.
.PHONY: run test lint setup

# Stop before anything else, in one line, when ODOO_SRC holds no Odoo 18.0.
ODOO_CHECK := $(shell bash scripts/sm.sh check-odoo 2>&1)
ifneq ($(ODOO_CHECK),)
$(error $(ODOO_CHECK))
endif

run:
	@bash scripts/sm.sh run

test:
	@bash scripts/sm.sh test

lint:
	@bash scripts/sm.sh lint

setup:
	@bash scripts/sm.sh setup
