"""The box office: cash sales by authorized sellers, codes of the day, offline stock.

See docs/box-office.md.
"""
