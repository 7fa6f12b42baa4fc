"""Date formats for English pages: short dates stay year-month-day, as staff read them."""

SHORT_DATE_FORMAT = "Y-m-d"
SHORT_DATETIME_FORMAT = "Y-m-d H:i"
