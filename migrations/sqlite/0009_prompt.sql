-- the prompt of each job's wire body, on its own: what the console's search reads (a search of
-- the whole body would match inside URLs' queries, presigned signatures and callback tokens,
-- and tell their characters one guess at a time by the count of matches). HiAPI nests it in
-- `input`; reapi and Apiframe keep it at the top.
ALTER TABLE jobs ADD COLUMN prompt TEXT;
UPDATE jobs SET prompt = CASE provider
    WHEN 'hiapi' THEN json_extract(body, '$.input.prompt')
    ELSE json_extract(body, '$.prompt') END;
