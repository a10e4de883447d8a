"""Guess the price: a post kind whose closest guesses win a coupon."""
