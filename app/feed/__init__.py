"""The feed domain, one sub-package for each thing it serves (each with models, schemas,
service and routes where it has them):

- `posts`: merchants' posts and polls (drafts, scheduling, publishing, hiding), how a post looks
  to its reader (`presentation`), and coupons as rewards for following, voting or a buyer show
  (`rewards`);
- `reading`: the feed, a merchant's page and one post as readers see them, and what readers do
  there: likes, poll votes and follows (`reactions`);
- `shows`: buyer shows, their reports and moderation;
- `media`: image uploads and the files they are served from.
"""
