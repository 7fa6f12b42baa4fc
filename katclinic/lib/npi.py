"""The National Provider Identifier's check digit, the one rule every app uses.

CMS, "Requirements for National Provider Identifier (NPI) and NPI Enumerator's Check Digit"
(2005): the Luhn check is computed over the 9 identifier digits prefixed with 80840.
https://www.cms.gov/Regulations-and-Guidance/Administrative-Simplification/NationalProvIdentStand/Downloads/NPIcheckdigit.pdf
"""

NPI_LENGTH = 10
# The digits 8, 0, 8, 4, 0 of the prefix contribute this much to the Luhn sum.
NPI_LUHN_PREFIX_SUM = 24


def npi_is_valid(npi: str) -> bool:
    """Ten ASCII digits whose last is the Luhn check digit over 80840 and the first nine."""
    if len(npi or "") != NPI_LENGTH or not (npi.isascii() and npi.isdigit()):
        return False
    total = NPI_LUHN_PREFIX_SUM
    for index, char in enumerate(reversed(npi[:-1])):
        digit = int(char)
        if index % 2 == 0:
            digit *= 2
            digit = digit - 9 if digit > 9 else digit  # noqa: PLR2004 - Luhn digit fold
        total += digit
    return (10 - total % 10) % 10 == int(npi[-1])
