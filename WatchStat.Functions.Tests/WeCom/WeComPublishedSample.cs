namespace WatchStat.Tests.WeCom;

/// <summary>
/// WeCom's published callback sample, the vectors both the app's receiver (MessageCryptoTests) and the simulator's
/// sender (CallbackSenderTests) are checked against.
/// </summary>
public static class WeComPublishedSample
{
    // WeCom's published sample, from its official SDK: sbzhu/weworkapi_php callback/Sample.php (the same values are in
    // sbzhu/weworkapi_golang sample.go and workweixin/weworkapi_cplusplus Sample.cpp).
    public const string Token = "QDG6eK";
    public const string EncodingAesKey = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C";
    public const string CorpId = "wx5823bf96d3bd56c7";

    // Sample.php, 使用示例一 (URL check). The sample prints the decrypted echostr rather than stating it; the value is
    // what other suites assert for this vector, e.g. easy-swoole/wechat tests/Work/Server/Handlers/EchoStrHandlerTest.php
    // (with mock_data/testHandle.json).
    public const string UrlSignature = "5c45ff5e21c57e6ad56bac8758b79b1d9ac89fd3";
    public const string UrlTimestamp = "1409659589";
    public const string UrlNonce = "263014780";
    public const string EchoStr = "P9nAzCzyDtyTWESHep1vC5X9xho/qYX3Zpb4yKa9SKld1DsH3Iyt3tP3zNdtp+4RPcs8TgAE7OaBO+FZXvnaqQ==";
    public const string EchoPlaintext = "1616140317555161061";

    // Sample.php, 使用示例二 (an encrypted POST), and the decrypted XML the sample gives in its comment. Its pad is
    // 30 bytes, more than PKCS#7 on 16-byte blocks allows.
    public const string PostSignature = "477715d11cdb4164915debcba66cb864d751f3e6";
    public const string PostTimestamp = "1409659813";
    public const string PostNonce = "1372623149";
    public const string PostEncrypt = "RypEvHKD8QQKFhvQ6QleEB4J58tiPdvo+rtK1I9qca6aM/wvqnLSV5zEPeusUiX5L5X/0lWfrf0QADHHhGd3QczcdCUpj911L3vg3W/sYYvuJTs3TUUkSUXxaccAS0qhxchrRYt66wiSpGLYL42aM6A8dTT+6k4aSknmPj48kzJs8qLjvd4Xgpue06DOdnLxAUHzM6+kDZ+HMZfJYuR+LtwGc2hgf5gsijff0ekUNXZiqATP7PF5mZxZ3Izoun1s4zG4LUMnvw2r+KqCKIw+3IQH03v+BCA9nMELNqbSf6tiWSrXJB3LAVGUcallcrw8V2t9EL4EhzJWrQUax5wLVMNS0+rUPA3k22Ncx4XXZS9o0MBH27Bo6BpNelZpS+/uh9KsNlY6bHCmJU9p8g7m3fVKn28H3KDYA5Pl/T8Z1ptDAVe0lXdQ2YoyyH2uyPIGHBZZIs2pDBS8R07+qN+E7Q==";
    public const string PostBody = "<xml><ToUserName><![CDATA[wx5823bf96d3bd56c7]]></ToUserName><Encrypt><![CDATA[" + PostEncrypt + "]]></Encrypt><AgentID><![CDATA[218]]></AgentID></xml>";
    public const string PostPlaintext = "<xml><ToUserName><![CDATA[wx5823bf96d3bd56c7]]></ToUserName>\n"
        + "<FromUserName><![CDATA[mycreate]]></FromUserName>\n"
        + "<CreateTime>1409659813</CreateTime>\n"
        + "<MsgType><![CDATA[text]]></MsgType>\n"
        + "<Content><![CDATA[hello]]></Content>\n"
        + "<MsgId>4561255354251345929</MsgId>\n"
        + "<AgentID>218</AgentID>\n"
        + "</xml>";
}
