-- The program month by month over month_grid($until) (macros.sql: from the first month of the
-- data, the first activity, deal or investment, the first join when there is none, to the month
-- of $until; the same months as partner_months.sql): partners in the program at the end of each
-- month (in_program at month_end, which is $until for its own month) against the revenue won in
-- the month (deal_value of won deals, by closed_on).
-- month_grid reads the activities, deals and investments (for the first month), so this query
-- scans them too. Parameters: $until (date).
with
-- import
months as (
    select month_start, month_end from month_grid($until::date)
),
won_deals as (
    select closed_on, amount, mrr from deals where status = 'won' and closed_on <= $until::date
),

-- logic
won as (
    select date_trunc('month', closed_on)::date as month_start, sum(deal_value(amount, mrr)) as revenue
    from won_deals
    group by 1
),

final as (
    select
        m.month_start as month,
        m.month_end,
        (select count(*) from partners p where in_program(p.joined_on, p.left_on, m.month_end)) as partners,
        coalesce(w.revenue, 0)::double as revenue
    from months m
    left join won w using (month_start)
)
select * from final
order by month
