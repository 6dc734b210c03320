-- The program month by month, from the first activity or deal (the first join when there
-- are none) to $until: partners in the program at the
-- end of each month (the population definition applied at that day; $until for its own
-- month) against the revenue won in the month (deal value = amount + 12 x mrr, by closed_on).
with
first_event as (
    select coalesce(
        least((select min(occurred_on) from activities), (select min(registered_on) from deals)),
        (select min(joined_on) from partners)
    ) as first_day
),
months as (
    select
        month_start::date as month_start,
        least((month_start + interval 1 month - interval 1 day)::date, $until::date) as month_end
    from range(
        date_trunc('month', (select first_day from first_event)),
        date_trunc('month', $until::date) + interval 1 month,
        interval 1 month
    ) as t(month_start)
),
won as (
    select date_trunc('month', closed_on)::date as month_start, sum(amount + 12 * mrr) as revenue
    from deals
    where status = 'won' and closed_on <= $until::date
    group by 1
),
final as (
    select
        m.month_start as month,
        m.month_end,
        (select count(*) from partners p
            where p.joined_on <= m.month_end and (p.left_on is null or p.left_on > m.month_end)) as partners,
        coalesce(w.revenue, 0)::double as revenue
    from months m
    left join won w using (month_start)
)
select * from final
order by month
