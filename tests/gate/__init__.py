"""The gate as a user meets it: real commands in other folders, target files outside the checkout."""
