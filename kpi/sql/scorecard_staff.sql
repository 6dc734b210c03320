-- One partner's staff (partner_users) and what each did: activities by kind inside the
-- window (A - W < d <= A) and the last day each was active on or before A (also before the
-- window). Staff without any activity are listed with zeros. Activities with no user_id
-- form one extra row (user_id null, no_user true), listed when it has activity in the window.
-- Parameters: $partner_id (text), $as_of (date), $window_days (integer).
with
bounds as (
    select $as_of::date as as_of, $as_of::date - $window_days::integer as window_start  -- exclusive
),

-- import
staff as (
    select user_id, user_name, role from partner_users where partner_id = $partner_id::varchar
),
partner_activities as (
    select nullif(a.user_id, '') as user_id, a.occurred_on, a.activity, a.occurred_on > b.window_start as in_window
    from activities a, bounds b
    where a.partner_id = $partner_id::varchar and a.occurred_on <= b.as_of
),

-- logic
per_user as (
    select
        user_id,
        count(*) filter (where in_window and activity = 'training_completed') as trainings,
        count(*) filter (where in_window and activity = 'content_shared') as content_shares,
        count(*) filter (where in_window and activity = 'content_viewed') as content_views,
        count(*) filter (where in_window and activity = 'login') as logins,
        max(occurred_on) as last_active_on
    from partner_activities
    group by user_id
),
named as (
    select
        s.user_id,
        s.user_name,
        s.role,
        false as no_user,
        coalesce(u.trainings, 0)::bigint as trainings,
        coalesce(u.content_shares, 0)::bigint as content_shares,
        coalesce(u.content_views, 0)::bigint as content_views,
        coalesce(u.logins, 0)::bigint as logins,
        u.last_active_on
    from staff s
    left join per_user u using (user_id)
),
unnamed as (
    select
        null::varchar as user_id,
        null::varchar as user_name,
        null::varchar as role,
        true as no_user,
        trainings::bigint,
        content_shares::bigint,
        content_views::bigint,
        logins::bigint,
        last_active_on
    from per_user
    where user_id is null and trainings + content_shares + content_views + logins > 0
),
final as (
    select *, trainings + content_shares + content_views + logins as activities
    from (select * from named union all select * from unnamed)
)
select * from final
order by no_user, activities desc, last_active_on desc nulls last, user_name, user_id
