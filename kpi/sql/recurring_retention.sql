-- The retention cohort of the MRR book over the window ending at $as_of (Recurring revenue page).
-- Start S = $as_of - $window_days (the day before the window's first day). The cohort: partners in
-- the population at S (the in_program macro) with MRR > 0 at S. MRR live on a day D: the mrr_live
-- macro (SPEC: won deals with closed_on <= D and (churned_on empty or churned_on > D)).
-- One row per cohort partner: start_mrr (MRR at S); end_mrr (MRR at A of all its deals, 0 when
-- it left the program by A); retained_mrr (MRR at A of the deals that were already live at S,
-- 0 when it left by A: no expansion, so retained_mrr <= start_mrr).
-- Parameters: $as_of (date), $window_days (integer).
with
bounds as (
    select $as_of::date as as_of, $as_of::date - $window_days::integer as start_day
),

-- import
won_deals as (
    select partner_id, status, mrr, closed_on, churned_on from deals where status = 'won' and mrr > 0
),

-- logic
cohort_partners as (
    select
        p.partner_id,
        p.partner_name,
        in_program(p.joined_on, p.left_on, b.as_of) as in_program_at_end
    from partners p, bounds b
    where in_program(p.joined_on, p.left_on, b.start_day)
),
partner_mrr as (
    select
        w.partner_id,
        coalesce(sum(w.mrr) filter (where mrr_live(w.status, w.closed_on, w.churned_on, b.start_day)), 0)
            as start_mrr,
        coalesce(sum(w.mrr) filter (where mrr_live(w.status, w.closed_on, w.churned_on, b.as_of)), 0)
            as mrr_at_end,
        -- The deals live at S that are still live at A: no expansion counts here.
        coalesce(sum(w.mrr) filter (
            where mrr_live(w.status, w.closed_on, w.churned_on, b.start_day)
                and mrr_live(w.status, w.closed_on, w.churned_on, b.as_of)
        ), 0) as retained_at_end
    from won_deals w, bounds b
    group by w.partner_id
),

final as (
    select
        c.partner_id,
        c.partner_name,
        c.in_program_at_end,
        m.start_mrr::double as start_mrr,
        (case when c.in_program_at_end then m.mrr_at_end else 0 end)::double as end_mrr,
        (case when c.in_program_at_end then m.retained_at_end else 0 end)::double as retained_mrr
    from cohort_partners c
    join partner_mrr m using (partner_id)
    where m.start_mrr > 0
)
select * from final
order by partner_id
