namespace Firezone.Snownet.Stun;

/// <summary>STUN/TURN methods (12-bit, RFC 8489 §18.2 and RFC 8656 §17).</summary>
internal enum StunMethod : ushort
{
    /// <summary>Binding (0x001).</summary>
    Binding = 0x001,

    /// <summary>TURN Allocate (0x003).</summary>
    Allocate = 0x003,

    /// <summary>TURN Refresh (0x004).</summary>
    Refresh = 0x004,

    /// <summary>TURN Send (indication, 0x006).</summary>
    Send = 0x006,

    /// <summary>TURN Data (indication, 0x007).</summary>
    Data = 0x007,

    /// <summary>TURN CreatePermission (0x008).</summary>
    CreatePermission = 0x008,

    /// <summary>TURN ChannelBind (0x009).</summary>
    ChannelBind = 0x009,
}
