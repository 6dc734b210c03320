-- Per-partner facts of the population for one or more as-of dates A and one window W
-- (SPEC "KPI definitions"). Window: dates d with A - W < d <= A. Thresholds are not applied
-- here: this result is cached per (dataset, A, W) and every slider move is answered from it.
-- The same definition at several as-of dates gives the history views (month ends, past weeks).
-- Parameters: $as_of_dates (date[]), $window_days (integer), $partner_id (text, or null for all).
with
bounds as (
    select d.as_of, d.as_of - $window_days::integer as window_start  -- window_start is exclusive
    from (select unnest($as_of_dates::date[]) as as_of) d
),

-- import
partners_wanted as (
    select * from partners where $partner_id::varchar is null or partner_id = $partner_id::varchar
),
population as (
    select b.as_of, b.window_start, p.*
    from partners_wanted p, bounds b
    where p.joined_on <= b.as_of and (p.left_on is null or p.left_on > b.as_of)
),
window_activities as (
    select b.as_of, a.partner_id, a.user_id, a.activity
    from activities a
    join bounds b on a.occurred_on > b.window_start and a.occurred_on <= b.as_of
    where $partner_id::varchar is null or a.partner_id = $partner_id::varchar
),
partner_deals as (
    select * from deals where $partner_id::varchar is null or partner_id = $partner_id::varchar
),
window_investments as (
    select b.as_of, i.partner_id, i.amount
    from investments i
    join bounds b on i.spent_on > b.window_start and i.spent_on <= b.as_of
    where $partner_id::varchar is null or i.partner_id = $partner_id::varchar
),

-- logic
activity_counts as (
    select
        as_of,
        partner_id,
        count(*) filter (where activity = 'training_completed') as trainings,
        count(*) filter (where activity = 'content_shared') as content_shares,
        count(*) filter (where activity = 'content_viewed') as content_views,
        count(*) filter (where activity = 'login') as logins,
        count(distinct user_id) filter (where user_id is not null and user_id <> '') as active_users
    from window_activities
    group by as_of, partner_id
),
deal_facts as (
    select
        b.as_of,
        d.partner_id,
        count(*) filter (where d.registered_on > b.window_start and d.registered_on <= b.as_of)
            as deals_registered,
        count(*) filter (where d.status = 'won' and d.closed_on > b.window_start and d.closed_on <= b.as_of)
            as deals_won,
        -- Deal value = amount + 12 x mrr (one-time plus first-year recurring).
        sum(d.amount + 12 * d.mrr) filter (
            where d.status = 'won' and d.closed_on > b.window_start and d.closed_on <= b.as_of
        ) as revenue,
        sum(d.mrr) filter (
            where d.status = 'won' and d.closed_on <= b.as_of and (d.churned_on is null or d.churned_on > b.as_of)
        ) as mrr
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
