-- One row per staff member (partner_users) of a population partner, with what they did in
-- the window (Engagement page). Window: dates d with A - W < d <= A; population at A.
-- trainings, shares, views and logins count the user's activities in the window (activities
-- without a user_id belong to no staff member); last_activity is the date of the user's
-- latest activity on or before A, at any time (empty when the user never did anything).
-- Parameters: $as_of (date), $window_days (integer).
with
bounds as (
    select $as_of::date as as_of, $as_of::date - $window_days::integer as window_start  -- window_start is exclusive
),

-- import
population as (
    select p.partner_id, p.partner_name
    from partners p, bounds b
    where p.joined_on <= b.as_of and (p.left_on is null or p.left_on > b.as_of)
),
staff as (
    select u.user_id, u.partner_id, p.partner_name, u.user_name, u.role
    from partner_users u
    join population p using (partner_id)
),
user_activities as (
    select a.user_id, a.occurred_on, a.activity
    from activities a, bounds b
    where a.user_id is not null and a.user_id <> '' and a.occurred_on <= b.as_of
),

-- logic
user_counts as (
    select
        a.user_id,
        count(*) filter (where a.activity = 'training_completed' and a.occurred_on > b.window_start) as trainings,
        count(*) filter (where a.activity = 'content_shared' and a.occurred_on > b.window_start) as content_shares,
        count(*) filter (where a.activity = 'content_viewed' and a.occurred_on > b.window_start) as content_views,
        count(*) filter (where a.activity = 'login' and a.occurred_on > b.window_start) as logins,
        max(a.occurred_on) as last_activity
    from user_activities a, bounds b
    group by a.user_id
),

final as (
    select
        s.user_id,
        s.partner_id,
        s.partner_name,
        s.user_name,
        s.role,
        coalesce(c.trainings, 0)::bigint as trainings,
        coalesce(c.content_shares, 0)::bigint as content_shares,
        coalesce(c.content_views, 0)::bigint as content_views,
        coalesce(c.logins, 0)::bigint as logins,
        c.last_activity
    from staff s
    left join user_counts c using (user_id)
)
select * from final
order by partner_name, partner_id, user_name, user_id
