"""Date formats for Spanish pages: day, month, year, and the 24-hour clock."""

SHORT_DATE_FORMAT = "d/m/Y"
SHORT_DATETIME_FORMAT = "d/m/Y H:i"
