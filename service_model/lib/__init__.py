"""Pure business rules of the Service Model suite.

Plain functions over plain values (dates, numbers, bytes): no ORM, no
database, so that each rule is tested on its own and used by the models, the
wizards and the portal alike.
"""
