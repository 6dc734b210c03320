-- The retention cohort of the MRR book over the window ending at $as_of (Recurring revenue page).
-- Start S = $as_of - $window_days (the day before the window's first day). The cohort: partners in
-- the population at S (joined_on <= S and (left_on empty or left_on > S)) with MRR > 0 at S.
-- MRR live on a day D (SPEC): won deals with closed_on <= D and (churned_on empty or churned_on > D).
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
    select partner_id, mrr, closed_on, churned_on from deals where status = 'won' and mrr > 0
),

-- logic
cohort_partners as (
    select
        p.partner_id,
        p.partner_name,
        (p.left_on is null or p.left_on > b.as_of) as in_program_at_end
    from partners p, bounds b
    where p.joined_on <= b.start_day and (p.left_on is null or p.left_on > b.start_day)
),
partner_mrr as (
    select
        w.partner_id,
        coalesce(sum(w.mrr) filter (
            where w.closed_on <= b.start_day and (w.churned_on is null or w.churned_on > b.start_day)
        ), 0) as start_mrr,
        coalesce(sum(w.mrr) filter (
            where w.closed_on <= b.as_of and (w.churned_on is null or w.churned_on > b.as_of)
        ), 0) as mrr_at_end,
        -- Live at S and still live at A (churned_on >= closed_on, so churned_on > A means live at S too).
        coalesce(sum(w.mrr) filter (
            where w.closed_on <= b.start_day and (w.churned_on is null or w.churned_on > b.as_of)
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
