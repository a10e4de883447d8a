"""Stock per store and SKU, POS sync, nearby availability and the cart quote."""
