-- Every object a history entry names (issue 14): an action such as "disabled category X in
-- ruleset Y" names several, and each must lose its pk from the entry once it is deleted, not
-- only the one the entry was filed under (user_actions.object_type/object_pk).
CREATE TABLE user_action_objects (
    action_id BIGINT NOT NULL REFERENCES user_actions(id) ON DELETE CASCADE,
    object_type TEXT NOT NULL,
    object_pk TEXT NOT NULL
);
CREATE INDEX user_action_objects_object ON user_action_objects (object_type, object_pk);
INSERT INTO user_action_objects (action_id, object_type, object_pk)
    SELECT id, object_type, object_pk FROM user_actions;
