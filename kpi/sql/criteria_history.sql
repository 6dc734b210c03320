-- The partners of the population at each of several as-of dates A, grouped by their
-- activation criteria counts over the window of W days ending on A (SPEC "Activation and
-- tiers": trainings, content shares, deal registrations). The same counts as partner_facts
-- at those dates, with the same macros, but only the three columns activation reads: the
-- ROI page's month ends need nothing else, and skipping the other facts (distinct active
-- users above all) is most of the cost of a new window.
-- Parameters: $as_of_dates (date[]), $window_days (integer).
with
bounds as (
    select unnest($as_of_dates::date[]) as as_of
),

-- import
population as (
    select b.as_of, p.partner_id
    from partners p, bounds b
    where in_program(p.joined_on, p.left_on, b.as_of)
),
window_activities as (
    select b.as_of, a.partner_id, a.activity
    from activities a
    join bounds b on in_window(a.occurred_on, b.as_of, $window_days)
),
window_registrations as (
    select b.as_of, d.partner_id
    from deals d
    join bounds b on in_window(d.registered_on, b.as_of, $window_days)
),

-- logic
activity_counts as (
    select as_of, partner_id, trainings(activity) as trainings, content_shares(activity) as content_shares
    from window_activities
    group by as_of, partner_id
),
registration_counts as (
    select as_of, partner_id, count(*) as deals_registered
    from window_registrations
    group by as_of, partner_id
),
criteria as (
    select
        p.as_of,
        coalesce(ac.trainings, 0)::bigint as trainings,
        coalesce(ac.content_shares, 0)::bigint as content_shares,
        coalesce(rc.deals_registered, 0)::bigint as deals_registered
    from population p
    left join activity_counts ac on ac.as_of = p.as_of and ac.partner_id = p.partner_id
    left join registration_counts rc on rc.as_of = p.as_of and rc.partner_id = p.partner_id
),

final as (
    select as_of, trainings, content_shares, deals_registered, count(*)::bigint as partners
    from criteria
    group by as_of, trainings, content_shares, deals_registered
)
select * from final
order by as_of, trainings, content_shares, deals_registered
