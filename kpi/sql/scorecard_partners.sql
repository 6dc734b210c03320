-- Every partner of the dataset, in or out of the program, for the scorecard's picker:
-- identity and the dates that decide whether it is in the population at a given as-of date.
-- Ordered by name, then id (two partners may share a name).
with
final as (
    select partner_id, partner_name, joined_on, left_on, region, partner_type, channel_manager
    from partners
)
select * from final
order by partner_name, partner_id
