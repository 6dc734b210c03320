-- Investments by partner and category over the window (SPEC "KPI definitions"; the in_window
-- macro: the dates d with A - W < d <= A). The category is as loaded (possibly empty); kpi.roi labels it.
-- Every partner with an investment counts here; kpi.roi keeps the population's.
-- Parameters: $as_of (date), $window_days (integer).
with
window_investments as (
    select partner_id, category, amount
    from investments
    where in_window(spent_on, $as_of::date, $window_days)
),

final as (
    select partner_id, category, sum(amount)::double as spend
    from window_investments
    group by partner_id, category
)
select * from final
order by partner_id, category
