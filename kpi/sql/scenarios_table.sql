-- Saved scenarios: named sets of the shared thresholds (kpi.scenarios). They are the
-- program's policy, not the data's: every new load and every restore carries the live
-- file's rows over. Exactly one row is the policy; an empty table (or an older file
-- without it) means the one default policy. Names are unique ignoring case (checked by
-- kpi.scenarios, which writes the whole table at once).
create table if not exists scenarios (
    name varchar primary key,
    is_policy boolean not null,
    min_trainings integer not null,
    min_shares integer not null,
    min_deals integer not null,
    min_criteria integer not null,
    reward_min_revenue double not null,
    drop_max_actions integer not null,
    grace_days integer not null
);
