"""Reading the feed, a merchant's page and one post; likes, poll votes and follows."""
