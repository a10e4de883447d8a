"""The data bus out: the outbox (events written in the caller's transaction), webhook endpoints,
deliveries and the worker that sends them. It sits low: every domain writes to it through
`service.emit`, and it imports no domain."""
