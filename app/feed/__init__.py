"""Posts, media, follows, likes, polls and votes, buyer shows, moderation."""
