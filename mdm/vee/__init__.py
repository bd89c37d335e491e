"""Validation, estimation and editing (VEE) of interval data: pure numpy over channel-days.

No ORM, no clock: `mdm` loads a batch of channel-days (and the history VEE compares them
with) into a `ChannelDays`, calls `engine.run_vee`, and stores the returned values, flags,
findings and worklist entries. See docs/vee.md."""
