# The two commands of the README. Everything else lives in scripts/sm.sh.
.PHONY: run test lint setup

run:
	@bash scripts/sm.sh run

test:
	@bash scripts/sm.sh test

lint:
	@bash scripts/sm.sh lint

setup:
	@bash scripts/sm.sh setup
