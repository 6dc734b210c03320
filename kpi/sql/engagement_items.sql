-- Every content piece and course, with its use in the window and the deals of the partners
-- who adopted it (Engagement page). Window (in_window): dates d with A - W < d <= A; population
-- (in_program) at A.
-- An item is a distinct non-empty item_id anywhere in the activities (any date, any
-- partner), so an item nobody used in the window still gets a row, with zeros.
-- Its name is its most recent non-empty item_name (else the id); it is a "course" when it
-- has training_completed events anywhere in the data, else "content".
-- Use in the window, over activities of population partners: partners (distinct partners
-- with any activity on it), staff (distinct non-empty user_id: the active_users macro), shares,
-- completions (training_completed: the trainings macro), views.
-- Adopters: population partners who shared or completed it in the window. Their closed
-- deals (won + lost, closed_on in the window), won deals and revenue (deal value of won
-- deals, deal_value) are summed from per-partner totals computed once; the
-- population's totals are repeated on every row so others = population - adopters.
-- Parameters: $as_of (date), $window_days (integer).
with
bounds as (
    select $as_of::date as as_of
),

-- import
population as (
    select p.partner_id
    from partners p, bounds b
    where in_program(p.joined_on, p.left_on, b.as_of)
),
item_activities as (
    select partner_id, user_id, occurred_on, activity, item_id, item_name
    from activities
    where item_id is not null and item_id <> ''
),
window_deals as (
    select d.partner_id, d.status, d.amount, d.mrr
    from deals d, bounds b
    where d.status in ('won', 'lost') and in_window(d.closed_on, b.as_of, $window_days)
),

-- logic
catalog as (
    select
        item_id,
        coalesce(
            first(item_name order by occurred_on desc, item_name desc)
                filter (where item_name is not null and item_name <> ''),
            item_id
        ) as item_name,
        case when bool_or(activity = 'training_completed') then 'course' else 'content' end as kind
    from item_activities
    group by item_id
),
window_item_activities as (
    select a.partner_id, a.user_id, a.activity, a.item_id
    from item_activities a
    join population p using (partner_id), bounds b
    where in_window(a.occurred_on, b.as_of, $window_days)
),
item_use as (
    select
        item_id,
        count(distinct partner_id) as partners,
        active_users(user_id) as staff,
        content_shares(activity) as shares,
        trainings(activity) as completions,
        content_views(activity) as views
    from window_item_activities
    group by item_id
),
adoptions as (
    select distinct item_id, partner_id
    from window_item_activities
    where activity in ('content_shared', 'training_completed')
),
partner_deals as (
    select
        p.partner_id,
        count(d.partner_id) as closed,
        count(d.partner_id) filter (where d.status = 'won') as won,
        coalesce(sum(deal_value(d.amount, d.mrr)) filter (where d.status = 'won'), 0) as revenue
    from population p
    left join window_deals d using (partner_id)
    group by p.partner_id
),
population_totals as (
    select
        count(*) as population,
        coalesce(sum(closed), 0) as population_closed,
        coalesce(sum(won), 0) as population_won,
        coalesce(sum(revenue), 0) as population_revenue
    from partner_deals
),
adopter_totals as (
    select
        a.item_id,
        count(*) as adopters,
        sum(pd.closed) as adopters_closed,
        sum(pd.won) as adopters_won,
        sum(pd.revenue) as adopters_revenue
    from adoptions a
    join partner_deals pd using (partner_id)
    group by a.item_id
),

final as (
    select
        c.item_id,
        c.item_name,
        c.kind,
        coalesce(u.partners, 0)::bigint as partners,
        coalesce(u.staff, 0)::bigint as staff,
        coalesce(u.shares, 0)::bigint as shares,
        coalesce(u.completions, 0)::bigint as completions,
        coalesce(u.views, 0)::bigint as views,
        coalesce(t.adopters, 0)::bigint as adopters,
        coalesce(t.adopters_closed, 0)::bigint as adopters_closed,
        coalesce(t.adopters_won, 0)::bigint as adopters_won,
        coalesce(t.adopters_revenue, 0)::double as adopters_revenue,
        pt.population::bigint as population,
        pt.population_closed::bigint as population_closed,
        pt.population_won::bigint as population_won,
        pt.population_revenue::double as population_revenue
    from catalog c
    left join item_use u using (item_id)
    left join adopter_totals t using (item_id)
    cross join population_totals pt
)
select * from final
order by item_id
