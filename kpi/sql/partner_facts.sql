-- Per-partner facts of the population for one or more as-of dates A and one window W
-- (SPEC "KPI definitions"; the rules are the macros of macros.sql: in_program, in_window,
-- deal_value, mrr_live and the activity counts). Thresholds are not applied
-- here: this result is cached per (dataset, A, W) and every slider move is answered from it.
-- The same definition at several as-of dates gives the history views (month ends, past weeks).
-- Parameters: $as_of_dates (date[]), $window_days (integer), $partner_id (text, or null for all).
with
bounds as (
    select unnest($as_of_dates::date[]) as as_of
),

-- import
partners_wanted as (
    select * from partners where $partner_id::varchar is null or partner_id = $partner_id::varchar
),
population as (
    select b.as_of, p.*
    from partners_wanted p, bounds b
    where in_program(p.joined_on, p.left_on, b.as_of)
),
window_activities as (
    select b.as_of, a.partner_id, a.user_id, a.activity
    from activities a
    join bounds b on in_window(a.occurred_on, b.as_of, $window_days)
    where $partner_id::varchar is null or a.partner_id = $partner_id::varchar
),
partner_deals as (
    select * from deals where $partner_id::varchar is null or partner_id = $partner_id::varchar
),
window_investments as (
    select b.as_of, i.partner_id, i.amount
    from investments i
    join bounds b on in_window(i.spent_on, b.as_of, $window_days)
    where $partner_id::varchar is null or i.partner_id = $partner_id::varchar
),

-- logic
activity_counts as (
    select
        as_of,
        partner_id,
        trainings(activity) as trainings,
        content_shares(activity) as content_shares,
        content_views(activity) as content_views,
        logins(activity) as logins,
        active_users(user_id) as active_users
    from window_activities
    group by as_of, partner_id
),
deal_facts as (
    select
        b.as_of,
        d.partner_id,
        count(*) filter (where in_window(d.registered_on, b.as_of, $window_days)) as deals_registered,
        count(*) filter (where d.status = 'won' and in_window(d.closed_on, b.as_of, $window_days)) as deals_won,
        count(*) filter (where d.status = 'lost' and in_window(d.closed_on, b.as_of, $window_days)) as deals_lost,
        sum(deal_value(d.amount, d.mrr)) filter (
            where d.status = 'won' and in_window(d.closed_on, b.as_of, $window_days)
        ) as revenue,
        sum(d.mrr) filter (where mrr_live(d.status, d.closed_on, d.churned_on, b.as_of)) as mrr
    from partner_deals d, bounds b
    group by b.as_of, d.partner_id
),
costs as (
    select as_of, partner_id, sum(amount) as cost
    from window_investments
    group by as_of, partner_id
),

final as (
    select
        p.as_of,
        p.partner_id,
        p.partner_name,
        p.region,
        p.partner_type,
        p.channel_manager,
        p.joined_on,
        coalesce(ac.trainings, 0)::bigint as trainings,
        coalesce(ac.content_shares, 0)::bigint as content_shares,
        coalesce(ac.content_views, 0)::bigint as content_views,
        coalesce(ac.logins, 0)::bigint as logins,
        coalesce(ac.active_users, 0)::bigint as active_users,
        coalesce(df.deals_registered, 0)::bigint as deals_registered,
        coalesce(df.deals_won, 0)::bigint as deals_won,
        coalesce(df.deals_lost, 0)::bigint as deals_lost,
        coalesce(df.revenue, 0)::double as revenue,
        coalesce(c.cost, 0)::double as cost,
        coalesce(df.mrr, 0)::double as mrr
    from population p
    left join activity_counts ac using (as_of, partner_id)
    left join deal_facts df using (as_of, partner_id)
    left join costs c using (as_of, partner_id)
)
select * from final
order by as_of, partner_id
