-- The rules the queries share, each written once (SPEC "KPI definitions"). kpi.store.connect
-- creates these macros on every connection it opens, and every query in kpi/sql calls them
-- instead of spelling the rule out again, so two pages cannot count by different rules.
--
-- in_program(joined_on, left_on, day): the population on a day D: partners with
--     joined_on <= D and (left_on empty or after D). Joined on D counts; left on D is out.
-- in_window(day, as_of, window_days): the window: the dates d with A - W < d <= A.
-- deal_value(amount, mrr): amount + 12 x mrr (one-time plus first-year recurring).
-- mrr_live(status, closed_on, churned_on, day): the deal's mrr counts on a day D: won, with
--     closed_on <= D and (churned_on empty or churned_on > D).
-- trainings(activity), content_shares(activity), content_views(activity), logins(activity):
--     aggregates counting the events of each kind (training_completed, content_shared,
--     content_viewed, login); a null activity counts in none of them.
-- active_users(user_id): aggregate: the distinct non-empty user_id values.
-- month_grid(until): table (month_start, month_end) of every calendar month from the first
--     month of the data to the month of `until`; month_end is the month's last day, or
--     `until` for its own month. The first month of the data is the month of the first
--     activity, deal registration or investment (the first join when there is none), and
--     never after the month of `until`. Money spent before anything else happened is part
--     of the program's history, so investments count.
--
-- The macros live in the connection's own in-memory catalog (not TEMP): a TEMP macro is
-- private to one cursor, and the app queries through cursors of one shared connection.
-- month_grid reads the tables, so this file runs after they are in the catalog.

create or replace macro in_program(joined_on, left_on, day) as
    joined_on <= day and (left_on is null or left_on > day);

create or replace macro in_window(day, as_of, window_days) as
    day > as_of - window_days::integer and day <= as_of;

create or replace macro deal_value(amount, mrr) as
    amount + 12 * mrr;

create or replace macro mrr_live(status, closed_on, churned_on, day) as
    status = 'won' and closed_on <= day and (churned_on is null or churned_on > day);

create or replace macro trainings(activity) as
    count(*) filter (where activity = 'training_completed');
create or replace macro content_shares(activity) as
    count(*) filter (where activity = 'content_shared');
create or replace macro content_views(activity) as
    count(*) filter (where activity = 'content_viewed');
create or replace macro logins(activity) as
    count(*) filter (where activity = 'login');

create or replace macro active_users(user_id) as
    count(distinct user_id) filter (where user_id is not null and user_id <> '');

create or replace macro month_grid(until) as table
    with
    first_event as (
        select coalesce(
            least(
                (select min(occurred_on) from activities),
                (select min(registered_on) from deals),
                (select min(spent_on) from investments)
            ),
            (select min(joined_on) from partners)
        ) as first_day
    ),
    final as (
        select
            month_start::date as month_start,
            least((month_start + interval 1 month - interval 1 day)::date, until::date) as month_end
        from range(
            date_trunc('month', least((select first_day from first_event), until::date)),
            date_trunc('month', until::date) + interval 1 month,
            interval 1 month
        ) as t(month_start)
    )
    select * from final;
