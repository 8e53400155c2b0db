namespace Firezone.Snownet.Stun;

/// <summary>STUN/TURN error codes used by this package, with their reason phrases.</summary>
internal static class StunErrorCode
{
    /// <summary>400 Bad Request.</summary>
    public const int BadRequest = 400;

    /// <summary>401 Unauthorized.</summary>
    public const int Unauthorized = 401;

    /// <summary>403 Forbidden.</summary>
    public const int Forbidden = 403;

    /// <summary>420 Unknown Attribute.</summary>
    public const int UnknownAttribute = 420;

    /// <summary>437 Allocation Mismatch.</summary>
    public const int AllocationMismatch = 437;

    /// <summary>438 Stale Nonce.</summary>
    public const int StaleNonce = 438;

    /// <summary>440 Address Family not Supported.</summary>
    public const int AddressFamilyNotSupported = 440;

    /// <summary>441 Wrong Credentials.</summary>
    public const int WrongCredentials = 441;

    /// <summary>442 Unsupported Transport Protocol.</summary>
    public const int UnsupportedTransportProtocol = 442;

    /// <summary>443 Peer Address Family Mismatch.</summary>
    public const int PeerAddressFamilyMismatch = 443;

    /// <summary>486 Allocation Quota Reached.</summary>
    public const int AllocationQuotaReached = 486;

    /// <summary>500 Server Error.</summary>
    public const int ServerError = 500;

    /// <summary>508 Insufficient Capacity.</summary>
    public const int InsufficientCapacity = 508;

    /// <summary>The reason phrase the Firezone relay uses for a code.</summary>
    public static string ReasonPhrase(int code) => code switch
    {
        BadRequest => "Bad Request",
        Unauthorized => "Unauthorized",
        Forbidden => "Forbidden",
        UnknownAttribute => "Unknown Attribute",
        AllocationMismatch => "Allocation Mismatch",
        StaleNonce => "Stale Nonce",
        AddressFamilyNotSupported => "Address Family not Supported",
        WrongCredentials => "Wrong Credentials",
        UnsupportedTransportProtocol => "Unsupported Transport Protocol",
        PeerAddressFamilyMismatch => "Peer Address Family Mismatch",
        AllocationQuotaReached => "Allocation Quota Reached",
        ServerError => "Server Error",
        InsufficientCapacity => "Insufficient Capacity",
        _ => "Error",
    };
}
