-- Each partner, calendar month by calendar month, over month_grid($until) (macros.sql: from the
-- first month of the data, the first activity, deal or investment, the first join when there is
-- none, to the month of $until, that month cut at $until). One row per partner and month from the
-- month it joined (earlier months too when it has deals, activity or investments before joining).
-- Behaviours, deals, revenue and cost count the dates inside the month; mrr is the
-- recurring revenue live at the month's end (SPEC: won, closed_on <= end, churned_on empty
-- or after the end). new_mrr / churned_mrr are the mrr of won deals closed / churned in the
-- month, so mrr(end of m) - mrr(end of m-1) = new_mrr - churned_mrr for every partner.
-- in_program: the partner is in the population at the month's end (the in_program macro).
-- Revenue is deal value and the counts are the activity macros, as in partner_facts.sql.
-- Parameters: $until (date), $partner_id (text, or null for every partner).
with
-- import
months as (
    select month_start, month_end from month_grid($until::date)
),
partners_wanted as (
    select * from partners where $partner_id::varchar is null or partner_id = $partner_id::varchar
),
month_activities as (
    select a.partner_id, date_trunc('month', a.occurred_on)::date as month_start, a.user_id, a.activity
    from activities a
    where a.occurred_on <= $until::date
        and ($partner_id::varchar is null or a.partner_id = $partner_id::varchar)
),
partner_deals as (
    select * from deals where $partner_id::varchar is null or partner_id = $partner_id::varchar
),
month_investments as (
    select i.partner_id, date_trunc('month', i.spent_on)::date as month_start, i.amount
    from investments i
    where i.spent_on <= $until::date
        and ($partner_id::varchar is null or i.partner_id = $partner_id::varchar)
),

-- logic
activity_counts as (
    select
        partner_id,
        month_start,
        trainings(activity) as trainings,
        content_shares(activity) as content_shares,
        content_views(activity) as content_views,
        logins(activity) as logins,
        active_users(user_id) as active_users
    from month_activities
    group by partner_id, month_start
),
deal_events as (
    -- Each deal contributes to the month of each of its dates.
    select partner_id, registered_on as day, 'registered' as event, 0.0 as value, 0.0 as mrr
    from partner_deals
    union all
    select partner_id, closed_on, 'won', deal_value(amount, mrr), mrr from partner_deals where status = 'won'
    union all
    select partner_id, closed_on, 'lost', 0.0, 0.0 from partner_deals where status = 'lost'
    union all
    select partner_id, churned_on, 'churned', 0.0, mrr
    from partner_deals where status = 'won' and churned_on is not null
),
deal_counts as (
    select
        partner_id,
        date_trunc('month', day)::date as month_start,
        count(*) filter (where event = 'registered') as deals_registered,
        count(*) filter (where event = 'won') as deals_won,
        count(*) filter (where event = 'lost') as deals_lost,
        sum(value) filter (where event = 'won') as revenue,
        sum(mrr) filter (where event = 'won') as new_mrr,
        sum(mrr) filter (where event = 'churned') as churned_mrr
    from deal_events
    where day <= $until::date
    group by partner_id, month_start
),
costs as (
    select partner_id, month_start, sum(amount) as cost
    from month_investments
    group by partner_id, month_start
),
partner_first_month as (
    select partner_id, min(month_start) as first_month
    from (
        select partner_id, month_start from activity_counts
        union all
        select partner_id, month_start from deal_counts
        union all
        select partner_id, month_start from costs
        union all
        select partner_id, date_trunc('month', joined_on)::date from partners_wanted
    )
    group by partner_id
),
partner_month_grid as (
    select p.partner_id, p.partner_name, p.joined_on, p.left_on, m.month_start, m.month_end
    from partners_wanted p
    join partner_first_month f using (partner_id)
    join months m on m.month_start >= f.first_month
),
joined as (
    select
        g.partner_id,
        g.partner_name,
        g.month_start as month,
        g.month_end,
        in_program(g.joined_on, g.left_on, g.month_end) as in_program,
        coalesce(ac.trainings, 0)::bigint as trainings,
        coalesce(ac.content_shares, 0)::bigint as content_shares,
        coalesce(ac.content_views, 0)::bigint as content_views,
        coalesce(ac.logins, 0)::bigint as logins,
        coalesce(ac.active_users, 0)::bigint as active_users,
        coalesce(dc.deals_registered, 0)::bigint as deals_registered,
        coalesce(dc.deals_won, 0)::bigint as deals_won,
        coalesce(dc.deals_lost, 0)::bigint as deals_lost,
        coalesce(dc.revenue, 0)::double as revenue,
        coalesce(c.cost, 0)::double as cost,
        coalesce(dc.new_mrr, 0)::double as new_mrr,
        coalesce(dc.churned_mrr, 0)::double as churned_mrr
    from partner_month_grid g
    left join activity_counts ac on ac.partner_id = g.partner_id and ac.month_start = g.month_start
    left join deal_counts dc on dc.partner_id = g.partner_id and dc.month_start = g.month_start
    left join costs c on c.partner_id = g.partner_id and c.month_start = g.month_start
),
final as (
    select
        *,
        -- MRR live at the month end: everything won so far minus everything churned so far.
        sum(new_mrr - churned_mrr) over (
            partition by partner_id order by month rows between unbounded preceding and current row
        ) as mrr
    from joined
)
select * from final
order by partner_id, month
