-- The database shape the queries read. Loaded data is already validated
-- (kpi.load.validate); the constraints here are a second line of defence.
create table partners (
    partner_id varchar primary key,
    partner_name varchar not null,
    joined_on date not null,
    left_on date,
    region varchar,
    partner_type varchar,
    channel_manager varchar
);
create table partner_users (
    user_id varchar primary key,
    partner_id varchar not null,
    user_name varchar,
    role varchar
);
create table activities (
    partner_id varchar not null,
    user_id varchar,
    occurred_on date not null,   -- the calendar date of occurred_at
    activity varchar not null,
    item_id varchar,
    item_name varchar
);
create table deals (
    deal_id varchar primary key,
    partner_id varchar not null,
    registered_on date not null,
    status varchar not null,
    closed_on date,
    amount double not null,
    mrr double not null,
    churned_on date
);
create table investments (
    partner_id varchar not null,
    spent_on date not null,
    category varchar,
    amount double not null
);
-- One row: the load this file holds. A database file describes its own load, so a
-- kept copy (kpi.history) can be listed and restored without any other record.
create table dataset (
    dataset_id varchar not null,  -- changes with every load: the cache key of the data
    loaded_at timestamp not null,
    source varchar not null,      -- the folder, upload or "restore of <dataset_id>"
    mapping_name varchar          -- the saved column mapping the load used, if any
);
-- The files the load read (empty for a generated dataset), in the order given.
create table dataset_files (
    file_no integer not null,
    file_name varchar not null,   -- the file's name as the user gave it, no folder
    table_name varchar not null,  -- the contract table it filled
    row_count bigint not null     -- data rows read from it
);
