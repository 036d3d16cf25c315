from django.contrib.auth.models import AnonymousUser, User

# Who is calling: a signed-in user or an anonymous visitor.
AnyUser = User | AnonymousUser
# Who did it, for audit rows: None for the system itself (tasks, commands).
Actor = User | AnonymousUser | None
