using Firezone.Snownet.Turn;
using static Firezone.Snownet.Tests.Turn.AllocationTestKit;

namespace Firezone.Snownet.Tests.Turn;

public class RelayUpdateTests
{
    private static readonly RelaySocket Server = RelaySocket.FromV4(RelayV4);

    [Fact]
    public void Unknown_relay_is_created_known_identical_one_kept_otherwise_replaced()
    {
        Assert.Equal(RelayUpdateAction.Create, RelayUpdate.Decide(null, Server, Username, Password, Realm));
        var existing = NewAllocation(Server);
        Assert.Equal(RelayUpdateAction.Keep, RelayUpdate.Decide(existing, Server, Username, Password, Realm));
        Assert.Equal(RelayUpdateAction.Replace, RelayUpdate.Decide(existing, Server, Username, "rotated", Realm));
        Assert.Equal(RelayUpdateAction.Replace, RelayUpdate.Decide(existing, Server, "1:other", Password, Realm));
        Assert.Equal(RelayUpdateAction.Replace, RelayUpdate.Decide(existing, RelaySocket.Dual(RelayV4, RelayV6), Username, Password, Realm));
        Assert.Equal(RelayUpdateAction.Replace, RelayUpdate.Decide(existing, RelaySocket.FromV4(PeerV4), Username, Password, Realm));
    }

    [Fact]
    public void Username_of_513_bytes_or_realm_of_128_characters_is_skipped()
    {
        Assert.Equal(RelayUpdateAction.Create, RelayUpdate.Decide(null, Server, new string('u', 512), Password, new string('r', 127)));
        Assert.Equal(RelayUpdateAction.Skip, RelayUpdate.Decide(null, Server, new string('u', 513), Password, Realm));
        Assert.Equal(RelayUpdateAction.Skip, RelayUpdate.Decide(null, Server, new string('é', 257), Password, Realm));
        Assert.Equal(RelayUpdateAction.Skip, RelayUpdate.Decide(null, Server, Username, Password, new string('r', 128)));
    }

    [Fact]
    public void Software_is_snownet_session_with_the_upper_hex_sha256_of_SESSION_ID_and_the_public_key()
    {
        var key = new byte[32];
        for (var i = 0; i < key.Length; i++)
        {
            key[i] = (byte)i;
        }

        // Computed independently: python3 -c 'import hashlib; print(hashlib.sha256(b"SESSION-ID" + bytes(range(32))).hexdigest().upper())'
        Assert.Equal("snownet; session=BD20EE571CFA9E2DB619C9B7197B1FF5447CBE7BBB3AD290034C4DF75C200596", Allocation.SoftwareFor(key));
    }
}
