-- What each staff member did: the one definition behind the Engagement page's staff and the
-- Partner scorecard's staff table.
-- Partners: $partner_id null = every partner in the program at A (the population); an id =
-- that partner alone, in the program or not (in_program, macros.sql).
-- One row per staff member (partner_users) of those partners, no_user false: trainings,
-- content_shares, content_views and logins count the user's activities in the window
-- (in_window: A - W < d <= A) with the activity macros; last_active_on is the date of the user's latest activity of any kind on
-- or before A, also before the window (empty when the user never did anything). Staff with no
-- activity are listed with zeros.
-- Activities without a user_id (null or empty) belong to the partner, not to a person: they
-- make one more row per partner (user_id, user_name, role null; no_user true), listed only
-- when the four counts add up to more than 0 in the window.
-- Activities count for the partner they are recorded under; kpi.load makes sure a user's
-- activities carry the user's own partner_id.
-- Parameters: $as_of (date), $window_days (integer), $partner_id (text or null).
with
bounds as (
    select $as_of::date as as_of
),

-- import
selected_partners as (
    select p.partner_id, p.partner_name
    from partners p, bounds b
    where
        p.partner_id = $partner_id::varchar
        or (
            $partner_id::varchar is null
            and in_program(p.joined_on, p.left_on, b.as_of)
        )
),
staff as (
    select u.partner_id, p.partner_name, u.user_id, u.user_name, u.role
    from partner_users u
    join selected_partners p using (partner_id)
),
partner_activities as (
    select
        a.partner_id,
        nullif(a.user_id, '') as user_id,
        -- Empty outside the window, so the activity counts skip it; last_active_on does not.
        case when in_window(a.occurred_on, b.as_of, $window_days) then a.activity end as window_activity,
        a.occurred_on
    from activities a, bounds b
    -- Not joined to selected_partners: staff and the user-less rows are joined to them after
    -- counting, which is cheaper than joining every activity first.
    where a.occurred_on <= b.as_of and ($partner_id::varchar is null or a.partner_id = $partner_id::varchar)
),

-- logic
per_user as (
    select
        partner_id,
        user_id,
        trainings(window_activity) as trainings,
        content_shares(window_activity) as content_shares,
        content_views(window_activity) as content_views,
        logins(window_activity) as logins,
        max(occurred_on) as last_active_on
    from partner_activities
    group by partner_id, user_id
),
named as (
    select
        s.partner_id,
        s.partner_name,
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
    left join per_user u using (partner_id, user_id)
),
unnamed as (
    select
        u.partner_id,
        p.partner_name,
        null::varchar as user_id,
        null::varchar as user_name,
        null::varchar as role,
        true as no_user,
        u.trainings::bigint as trainings,
        u.content_shares::bigint as content_shares,
        u.content_views::bigint as content_views,
        u.logins::bigint as logins,
        u.last_active_on
    from per_user u
    join selected_partners p using (partner_id)
    where u.user_id is null and u.trainings + u.content_shares + u.content_views + u.logins > 0
),

final as (
    select * from named
    union all
    select * from unnamed
)
select * from final
order by partner_name, partner_id, no_user, user_name, user_id
