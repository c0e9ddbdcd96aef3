//! Authentication: trust, cleartext, MD5, SCRAM-SHA-256 and -PLUS.

use bytes::BytesMut;
use fallible_iterator::FallibleIterator;
use postgres_protocol::authentication::sasl::{ChannelBinding as Cb, ScramSha256};
use postgres_protocol::message::backend::Message;
use postgres_protocol::message::frontend;

use crate::config::{AuthMethod, ChannelBinding, Config};
use crate::error::{Error, ErrorKind};
use crate::io::{tls, Io};

fn need_password(password: Option<&str>) -> Result<&str, Error> {
    password.ok_or_else(|| {
        Error::new(
            ErrorKind::Permission,
            "the server asked for a password but none was given (set it in the URL, PGPASSWORD or ~/.pgpass)",
        )
    })
}

async fn send(io: &mut Io, buf: &mut BytesMut) -> Result<(), Error> {
    io.write_all(buf)
        .await
        .map_err(|e| Error::io("sending authentication failed", e))
}

pub(crate) async fn authenticate(
    io: &mut Io,
    rbuf: &mut BytesMut,
    config: &Config,
    user: &str,
    password: Option<&str>,
) -> Result<(), Error> {
    let mut buf = BytesMut::new();
    let mut scram: Option<ScramSha256> = None;
    let mut challenged = false;
    let allow = |m: AuthMethod| -> Result<(), Error> {
        match config.require_auth() {
            Some(ra) if !ra.allows(m) => Err(Error::new(
                ErrorKind::Permission,
                format!("the server asked for \"{m}\" authentication, which require_auth does not allow"),
            )),
            _ => Ok(()),
        }
    };
    loop {
        let msg = super::read_message(io, rbuf).await?;
        match &msg {
            Message::AuthenticationCleartextPassword => allow(AuthMethod::Password)?,
            Message::AuthenticationMd5Password(_) => allow(AuthMethod::Md5)?,
            Message::AuthenticationSasl(_) => allow(AuthMethod::ScramSha256)?,
            Message::AuthenticationOk if !challenged => allow(AuthMethod::None)?,
            _ => {}
        }
        challenged = true;
        match msg {
            Message::AuthenticationOk => {
                if config.channel_binding() == ChannelBinding::Require && scram.is_none() {
                    return Err(Error::new(
                        ErrorKind::Permission,
                        "channel_binding=require, but the server authenticated without SCRAM channel binding",
                    ));
                }
                return Ok(());
            }
            Message::AuthenticationCleartextPassword => {
                if config.channel_binding() == ChannelBinding::Require {
                    return Err(Error::new(
                        ErrorKind::Permission,
                        "channel_binding=require, but the server asked for a cleartext password",
                    ));
                }
                let pw = need_password(password)?;
                frontend::password_message(pw.as_bytes(), &mut buf)
                    .map_err(|e| Error::with_source(ErrorKind::Conversion, "bad password", e))?;
                send(io, &mut buf).await?;
            }
            Message::AuthenticationMd5Password(body) => {
                if config.channel_binding() == ChannelBinding::Require {
                    return Err(Error::new(
                        ErrorKind::Permission,
                        "channel_binding=require, but the server asked for MD5",
                    ));
                }
                let pw = need_password(password)?;
                let hash = postgres_protocol::authentication::md5_hash(
                    user.as_bytes(),
                    pw.as_bytes(),
                    body.salt(),
                );
                frontend::password_message(hash.as_bytes(), &mut buf)
                    .map_err(|e| Error::with_source(ErrorKind::Conversion, "bad password", e))?;
                send(io, &mut buf).await?;
            }
            Message::AuthenticationSasl(body) => {
                let pw = need_password(password)?;
                let mut mechs = Vec::new();
                let mut it = body.mechanisms();
                while let Some(m) = it.next().map_err(|e| {
                    Error::with_source(ErrorKind::Protocol, "bad SASL mechanisms", e)
                })? {
                    mechs.push(m.to_string());
                }
                let cert = io
                    .tls()
                    .and_then(|t| t.peer_certificates())
                    .and_then(|c| c.first())
                    .map(|c| c.to_vec());
                let want_cb = config.channel_binding() != ChannelBinding::Disable;
                let (mech, cb) = if want_cb
                    && mechs.iter().any(|m| m == "SCRAM-SHA-256-PLUS")
                    && cert.is_some()
                {
                    let cert = cert.unwrap_or_default();
                    (
                        "SCRAM-SHA-256-PLUS",
                        Cb::tls_server_end_point(tls::server_end_point(&cert)),
                    )
                } else if mechs.iter().any(|m| m == "SCRAM-SHA-256") {
                    if config.channel_binding() == ChannelBinding::Require {
                        return Err(Error::new(
                            ErrorKind::Permission,
                            "channel_binding=require, but SCRAM-SHA-256-PLUS is not available (it needs TLS)",
                        ));
                    }
                    // 'y' (we could bind, the server did not offer it) only
                    // when binding is wanted and TLS is on; else 'n'.
                    let offered = mechs.iter().any(|m| m == "SCRAM-SHA-256-PLUS");
                    let cb = if io.tls().is_some() && want_cb && !offered {
                        Cb::unrequested()
                    } else {
                        Cb::unsupported()
                    };
                    ("SCRAM-SHA-256", cb)
                } else {
                    return Err(Error::new(
                        ErrorKind::Permission,
                        format!("no supported SASL mechanism among {mechs:?}"),
                    ));
                };
                let s = ScramSha256::new(pw.as_bytes(), cb);
                frontend::sasl_initial_response(mech, s.message(), &mut buf)
                    .map_err(|e| Error::with_source(ErrorKind::Protocol, "SASL failed", e))?;
                send(io, &mut buf).await?;
                scram = Some(s);
            }
            Message::AuthenticationSaslContinue(body) => {
                let s = scram
                    .as_mut()
                    .ok_or_else(|| Error::protocol("SASL continue before SASL start"))?;
                s.update(body.data()).map_err(|e| {
                    Error::with_source(ErrorKind::Permission, "SCRAM authentication failed", e)
                })?;
                frontend::sasl_response(s.message(), &mut buf)
                    .map_err(|e| Error::with_source(ErrorKind::Protocol, "SASL failed", e))?;
                send(io, &mut buf).await?;
            }
            Message::AuthenticationSaslFinal(body) => {
                let s = scram
                    .as_mut()
                    .ok_or_else(|| Error::protocol("SASL final before SASL start"))?;
                s.finish(body.data()).map_err(|e| {
                    Error::with_source(
                        ErrorKind::Permission,
                        "the server's SCRAM signature is invalid",
                        e,
                    )
                })?;
            }
            Message::ErrorResponse(b) => return Err(super::db_error(&mut b.fields())),
            Message::NoticeResponse(_) => {}
            Message::AuthenticationKerberosV5
            | Message::AuthenticationScmCredential
            | Message::AuthenticationGss
            | Message::AuthenticationSspi => {
                return Err(Error::new(ErrorKind::Permission, "the server asked for an authentication method tusk does not support (Kerberos, GSS, SSPI)"));
            }
            _ => return Err(Error::protocol("unexpected message during authentication")),
        }
    }
}
