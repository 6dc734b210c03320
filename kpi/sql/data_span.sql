-- The span of the data: the earliest date of any kind, and the default as-of date
-- (SPEC: the latest activity or deal date; deal dates are registered_on and closed_on).
-- With no activities and no deals, the latest join date stands in.
with
activity_dates as (select min(occurred_on) as first_date, max(occurred_on) as last_date from activities),
deal_dates as (
    select least(min(registered_on), min(closed_on)) as first_date,
           greatest(max(registered_on), max(closed_on)) as last_date
    from deals
),
partner_dates as (select min(joined_on) as first_date, max(joined_on) as last_date from partners),
final as (
    select
        least(p.first_date, a.first_date, d.first_date) as first_date,
        coalesce(greatest(a.last_date, d.last_date), p.last_date) as default_as_of
    from partner_dates p, activity_dates a, deal_dates d
)
select * from final
