"""What several kinds of orders reads share."""

# Merchant columns a buyer page never shows: encrypted, so loading them costs a decryption.
_MERCHANT_PRIVATE = ("legal_rep_id_number", "bank_account_number")
